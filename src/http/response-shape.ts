/**
 * The body shapes HTTP routes declare, and the pure projection of a handler's result onto its
 * route's shape (applied by ResponseShapeInterceptor). An allowlist: a field leaves only when
 * its route declares it, with the declared type; everything else is removed and counted.
 */

/** A leaf's JSON type, a nested object, or an array of one element shape (`[{ id: 'string' }]`). */
export type FieldShape = 'string' | 'number' | 'boolean' | ObjectShape | readonly [FieldShape];

export interface ObjectShape {
  readonly [field: string]: FieldShape;
}

/**
 * - `json`: a JSON object with (a subset of) the declared fields.
 * - `empty`: no body at all (204, or a 202 that says nothing).
 * - `text`: a string sent as is, for routes whose body is a text format that the route
 *   builds itself from bounded values (the Prometheus exposition on `GET /metrics`).
 */
export type BodyShape =
  | { readonly kind: 'json'; readonly fields: ObjectShape }
  | { readonly kind: 'empty' }
  | { readonly kind: 'text' };

export const jsonBody = (fields: ObjectShape): BodyShape => ({ kind: 'json', fields });
export const NO_BODY: BodyShape = { kind: 'empty' };
export const TEXT_BODY: BodyShape = { kind: 'text' };

/**
 * What may leave: the projected body and how many fields were removed from it, or nothing at
 * all when the route declares no shape or the body is not of the declared kind.
 */
export type ShapedBody =
  | { readonly ok: true; readonly body: unknown; readonly removed: number }
  | { readonly ok: false; readonly reason: 'undeclared' | 'wrong_kind' };

export function shapeBody(shape: BodyShape | undefined, body: unknown): ShapedBody {
  if (shape === undefined) return { ok: false, reason: 'undeclared' };
  switch (shape.kind) {
    case 'empty':
      return { ok: true, body: undefined, removed: body === undefined ? 0 : fieldCount(body) };
    case 'text':
      return typeof body === 'string'
        ? { ok: true, body, removed: 0 }
        : { ok: false, reason: 'wrong_kind' };
    case 'json': {
      if (!isPlainObject(body)) return { ok: false, reason: 'wrong_kind' };
      const tally = { removed: 0 };
      return { ok: true, body: projectObject(shape.fields, body, tally), removed: tally.removed };
    }
    default:
      return assertNever(shape);
  }
}

/** Marks a value that does not fit its declared shape and is left out. */
const DROPPED = Symbol('dropped');

interface Tally {
  removed: number;
}

/**
 * A fresh object with only the declared fields that fit their shape. A field whose value is
 * `undefined` is absent (JSON never sends it), so it is neither copied nor counted.
 */
function projectObject(
  shape: ObjectShape,
  value: Readonly<Record<string, unknown>>,
  tally: Tally,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, fieldValue] of Object.entries(value)) {
    if (fieldValue === undefined) continue;
    const fieldShape = Object.hasOwn(shape, field) ? shape[field] : undefined;
    const projected = fieldShape === undefined ? DROPPED : project(fieldShape, fieldValue, tally);
    if (projected === DROPPED) tally.removed += 1;
    else out[field] = projected;
  }
  return out;
}

function project(shape: FieldShape, value: unknown, tally: Tally): unknown {
  if (typeof shape === 'string') return fitsLeaf(shape, value) ? value : DROPPED;
  if (isArrayShape(shape)) {
    if (!Array.isArray(value)) return DROPPED;
    const items: unknown[] = [];
    for (const item of value as unknown[]) {
      const projected = project(shape[0], item, tally);
      if (projected === DROPPED) tally.removed += 1;
      else items.push(projected);
    }
    return items;
  }
  return isPlainObject(value) ? projectObject(shape, value, tally) : DROPPED;
}

function fitsLeaf(shape: 'string' | 'number' | 'boolean', value: unknown): boolean {
  switch (shape) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      // JSON would turn NaN and Infinity into null.
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return assertNever(shape);
  }
}

function isArrayShape(shape: ObjectShape | readonly [FieldShape]): shape is readonly [FieldShape] {
  return Array.isArray(shape);
}

/** Plain data only: class instances (Date, Buffer, errors) may serialize to anything. */
function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function fieldCount(body: unknown): number {
  return isPlainObject(body) ? Math.max(Object.keys(body).length, 1) : 1;
}

function assertNever(value: never): never {
  throw new Error(`unreachable response shape: ${JSON.stringify(value)}`);
}
