import { BlockList, isIPv4 } from 'node:net';

/**
 * With TLS_TERMINATED_BY_PROXY the public listener speaks plain HTTP, and a request counts
 * as TLS only when it comes from a trusted proxy address that says `X-Forwarded-Proto: https`.
 * The peer address is the socket's, never a forwarded header.
 */
export function trustedProxyCheck(
  trustedProxies: readonly string[],
): (remoteAddress: string | undefined, forwardedProto: string | string[] | undefined) => boolean {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address = '', prefix] = entry.split('/');
    const family = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(prefix), family);
  }
  return (remoteAddress, forwardedProto) => {
    if (remoteAddress === undefined || forwardedProto !== 'https') return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
    const address = mapped?.[1] ?? remoteAddress;
    return trusted.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  };
}
