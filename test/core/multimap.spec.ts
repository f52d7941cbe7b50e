import { Multimap } from '../../src/core/multimap.js';

describe(Multimap.name, () => {
  it('answers nothing for a key it never saw', () => {
    const map = new Multimap<string, string>();
    expect(map.has('u1', 'a')).toBe(false);
    expect(map.count('u1')).toBe(0);
    expect(map.values('u1')).toEqual([]);
    expect(map.delete('u1', 'a')).toBe(false);
  });

  it('keeps one value, refuses it twice, and forgets the key when it goes', () => {
    const map = new Multimap<string, string>();
    expect(map.add('u1', 'a')).toBe(true);
    expect(map.add('u1', 'a')).toBe(false);
    expect(map.has('u1', 'a')).toBe(true);
    expect(map.has('u1', 'b')).toBe(false);
    expect(map.count('u1')).toBe(1);
    expect(map.values('u1')).toEqual(['a']);
    expect(map.delete('u1', 'b')).toBe(false);
    expect(map.delete('u1', 'a')).toBe(true);
    expect(map.count('u1')).toBe(0);
    expect(map.has('u1', 'a')).toBe(false);
  });

  it('keeps several values in insertion order, and goes back to one', () => {
    const map = new Multimap<string, string>();
    for (const value of ['a', 'b', 'c']) expect(map.add('u1', value)).toBe(true);
    expect(map.add('u1', 'b')).toBe(false);
    expect(map.values('u1')).toEqual(['a', 'b', 'c']);
    expect(map.count('u1')).toBe(3);
    expect(map.delete('u1', 'a')).toBe(true);
    expect(map.delete('u1', 'a')).toBe(false);
    expect(map.delete('u1', 'c')).toBe(true);
    expect(map.values('u1')).toEqual(['b']);
    expect(map.has('u1', 'b')).toBe(true);
    expect(map.add('u1', 'd')).toBe(true);
    expect(map.values('u1')).toEqual(['b', 'd']);
    expect(map.delete('u1', 'b')).toBe(true);
    expect(map.delete('u1', 'd')).toBe(true);
    expect(map.count('u1')).toBe(0);
    expect(map.values('u1')).toEqual([]);
  });

  it('keeps keys apart, and hands out copies the caller may change', () => {
    const first = { id: 1 };
    const second = { id: 2 };
    const map = new Multimap<string, { id: number }>();
    map.add('u1', first);
    map.add('u2', second);
    map.add('u2', first);
    const copy = map.values('u2');
    copy.pop();
    expect(map.values('u2')).toEqual([second, first]);
    expect(map.has('u1', second)).toBe(false);
    for (const value of map.values('u2')) map.delete('u2', value);
    expect(map.count('u2')).toBe(0);
    expect(map.values('u1')).toEqual([first]);
  });
});
