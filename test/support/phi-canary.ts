import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from '@jest/globals';
import type { RunningNode } from './app.js';
import { type HttpResponse, request } from './http-client.js';

/**
 * A canary shaped like PHI: a patient name, a medical record number and an email. Feed it
 * into every input of a scenario (bodies, headers, paths, query strings, frames), then assert
 * that no output carries any part of it.
 */
export const PHI_CANARY = {
  name: 'Zelda Quixotica',
  // Shaped as staff write it, with a space: never a valid opaque id, so no id field can carry it.
  mrn: 'MRN 77340091',
  email: 'zelda.quixotica@canary-clinic.example',
} as const;

/** One string holding every part, for inputs that take free text. */
export const PHI_CANARY_TEXT = `${PHI_CANARY.name} ${PHI_CANARY.mrn} ${PHI_CANARY.email}`;

/**
 * Distinctive fragments made only of characters that JSON, URL and header encodings leave
 * alone, so an echoed canary is found however it was escaped.
 */
const FRAGMENTS = ['Zelda', 'Quixotica', '77340091', 'canary-clinic'];

/** Where a fragment occurs in `text`, case-insensitively; empty when clean. */
export function canaryFragmentsIn(text: string): string[] {
  const lower = text.toLowerCase();
  return FRAGMENTS.filter((f) => lower.includes(f.toLowerCase()));
}

/** Collects what a scenario's clients saw, then checks them and the node's own outputs. */
export class CanaryWatch {
  private readonly seen: { where: string; text: string }[] = [];

  response(res: HttpResponse, label = 'http'): HttpResponse {
    this.seen.push({ where: `${label} body`, text: res.body });
    this.seen.push({ where: `${label} headers`, text: JSON.stringify(res.headers) });
    return res;
  }

  frame(data: string | Buffer, label = 'ws frame'): void {
    this.seen.push({ where: label, text: data.toString() });
  }

  closeReason(reason: string | Buffer, label = 'ws close reason'): void {
    this.seen.push({ where: label, text: reason.toString() });
  }

  /** Asserts the canary is absent from everything seen plus the node's logs, audit files and metrics. */
  async expectClean(...nodes: RunningNode[]): Promise<void> {
    const outputs = [...this.seen];
    for (const node of nodes) {
      outputs.push({ where: 'logs', text: node.logs.text });
      outputs.push({ where: 'audit files', text: await readAll(node.config.audit.dir) });
      const metrics = await request(`${node.internalUrl}/metrics`).catch(() => null);
      if (metrics) outputs.push({ where: 'metrics', text: metrics.body });
    }
    const leaks = outputs
      .map(({ where, text }) => ({ where, fragments: canaryFragmentsIn(text) }))
      .filter((l) => l.fragments.length > 0);
    expect(leaks).toEqual([]);
  }
}

async function readAll(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const texts = await Promise.all(
    names.map((n) => readFile(path.join(dir, n), 'utf8').catch(() => '')),
  );
  return texts.join('\n');
}
