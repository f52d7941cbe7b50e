import { canonicalJson } from '../../src/core/canonical-json.js';

describe(canonicalJson.name, () => {
  it.each<[string, unknown, string]>([
    ['sorts top-level keys', { b: 1, a: 2 }, '{"a":2,"b":1}'],
    [
      'sorts keys of nested objects, including objects inside arrays',
      { z: { y: 1, x: [{ d: 1, c: 2 }] }, a: null },
      '{"a":null,"z":{"x":[{"c":2,"d":1}],"y":1}}',
    ],
    [
      'puts upper case before lower case (code unit order)',
      { b: 1, B: 2, a: 3 },
      '{"B":2,"a":3,"b":1}',
    ],
    ['orders non-ASCII keys by code unit', { é: 1, z: 2, a: 3 }, '{"a":3,"z":2,"é":1}'],
    [
      'orders an astral key by its UTF-16 surrogates, not by code point',
      { '\uFF01': 1, '\u{1F600}': 2 },
      '{"\u{1F600}":2,"\uFF01":1}',
    ],
    [
      'sorts numeric-looking keys as strings',
      { '10': 'a', '9': 'b', '1': 'c' },
      '{"1":"c","10":"a","9":"b"}',
    ],
    ['omits properties whose value is undefined', { a: undefined, b: 1 }, '{"b":1}'],
    ['keeps array order', [3, 1, 2], '[3,1,2]'],
    ['writes empty containers without whitespace', { a: {}, b: [] }, '{"a":{},"b":[]}'],
    [
      'escapes strings like JSON.stringify',
      { 'k"\n': 'v"\\\u0001' },
      '{"k\\"\\n":"v\\"\\\\\\u0001"}',
    ],
    ['writes numbers like JSON.stringify', [1.5, -0, 1e21, -7], '[1.5,0,1e+21,-7]'],
    ['writes top-level primitives', [null, true, false, 'x'], '[null,true,false,"x"]'],
    [
      'accepts objects without a prototype',
      Object.assign(Object.create(null), { b: 1, a: 2 }),
      '{"a":2,"b":1}',
    ],
  ])('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('gives the same text whatever the insertion order', () => {
    const one = { a: 1, b: { c: [1, { e: 2, d: 3 }], f: 'x' } };
    const two = { b: { f: 'x', c: [1, { d: 3, e: 2 }] }, a: 1 };
    expect(canonicalJson(two)).toBe(canonicalJson(one));
  });

  it('round-trips through JSON.parse to an equal value', () => {
    const value = { z: [1, 'two', { three: null }], é: { nested: true } };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;

  it.each<[string, unknown]>([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity nested in an object', { a: { b: Number.NEGATIVE_INFINITY } }],
    ['a bigint', { n: 10n }],
    ['a function', { f: () => 1 }],
    ['a symbol', [Symbol('s')]],
    ['an undefined array element', [1, undefined]],
    ['top-level undefined', undefined],
    ['a Date', { at: new Date(0) }],
    ['a Map', new Map([['a', 1]])],
    ['a cycle', cycle],
  ])('rejects %s', (_name, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
  });
});
