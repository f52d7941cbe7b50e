/* global window, document, location, fetch, URLSearchParams */
// The demo page: one CarecastClient, its state and its notifications on screen. Everything
// is kept in memory only (window.carecastDemo is what the browser test reads).
import { CarecastClient, ticketEndpoint } from '/sdk/carecast-client.js';

const params = new URLSearchParams(location.search);
const role = params.get('role') ?? 'patient';
const id = params.get('id') ?? 'pt-4c9a1b2e';
const channel = params.get('channel') ?? `${role}:${id}`;
const config = await (await fetch('/config.json')).json();

const demo = { states: [], notifications: [], recoveryFailures: [], errors: [], subscribed: 0 };
window.carecastDemo = demo;

const $ = (selector) => document.querySelector(selector);
$('#user').textContent = `${role}:${id}`;
$('#channel').textContent = channel;

function event(text) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toISOString().slice(11, 23)} ${text}`;
  $('#events').prepend(li);
}

// The access token comes from this page's own server (the dev token command's logic); a real
// app gets it from its identity provider. The ticket is then asked cross-origin.
const getTicket = ticketEndpoint({
  gatewayUrl: config.gatewayUrl,
  accessToken: async () => {
    const res = await fetch(`/token?role=${encodeURIComponent(role)}&id=${encodeURIComponent(id)}`);
    if (!res.ok) throw new Error(`token ${res.status}`);
    return res.text();
  },
});

const client = new CarecastClient({ getTicket, ...config.clientOptions });
client.on('state', (change) => {
  demo.states.push(change);
  $('#state').textContent = change.state;
  $('#state').dataset.state = change.state;
  const detail = { ...change };
  delete detail.state;
  $('#detail').textContent = JSON.stringify(detail);
  event(`${change.state} ${JSON.stringify(detail)}`);
});
client.on('error', (error) => {
  demo.errors.push(error);
  event(`error ${error.source} ${error.code}`);
});

client.subscribe(channel, {
  onNotification(n) {
    demo.notifications.push(n);
    const li = document.createElement('li');
    li.textContent = `#${n.seq} ${n.kind} ref=${n.ref} (${n.id})`;
    $('#notifications').prepend(li);
  },
  onSubscribed() {
    demo.subscribed += 1;
    event('subscribed: an app would fetch the current state now');
  },
  onRecoveryFailed(info) {
    demo.recoveryFailures.push(info);
    event(`recovery failed (${info.reason}): an app would refetch over REST`);
  },
  onRevoked() {
    event('revoked: access to the channel was withdrawn');
  },
  onError(code) {
    event(`subscription refused: ${code}`);
  },
});
client.connect();

$('#close').onclick = () => client.close();
$('#connect').onclick = () => client.connect();
$('#publish').onclick = async () => {
  const res = await fetch(`/publish?channel=${encodeURIComponent(channel)}`, { method: 'POST' });
  event(`publish answered ${res.status}`);
};
