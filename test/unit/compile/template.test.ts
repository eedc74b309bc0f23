// Rendering `{{...}}` templates: names read own properties only, by the rule expressions follow (no prototype
// member such as `constructor` or `__proto__` is ever rendered), both in text and in lone values of JSON bodies.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, loneValue, renderTree } from '../../../engine/compile/template.js';
import { compileExpression } from '../../../engine/expr/index.js';

const MISSING = Symbol('missing');

/** What a template renders to, and what the lone-value reader (JSON bodies, SQL params) returns. */
function read(name: string, vars: Record<string, unknown>): { text: string; value: unknown } {
  const template = compileTemplate(`{{${name}}}`);
  const lone = loneValue(template, MISSING);
  assert.ok(lone, `{{${name}}} is a lone placeholder`);
  return { text: template.render(vars), value: lone(vars) };
}

describe('templates read own properties only', () => {
  it('renders nothing for {{vu.constructor.name}} (it rendered "Number")', () => {
    assert.deepEqual(read('vu.constructor.name', { vu: 3 }), { text: '', value: MISSING });
  });

  it('renders nothing for {{x.constructor.caller}} instead of throwing a TypeError', () => {
    for (const x of [{}, 'a', [1], 7, true]) {
      assert.deepEqual(read('x.constructor.caller', { x }), { text: '', value: MISSING }, JSON.stringify(x));
    }
  });

  const prototypeKeys = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'];
  const containers: [string, unknown][] = [
    ['an object', { a: 1 }], ['an array', [1, 2]], ['a string', 'abc'], ['a number', 5],
  ];
  for (const [what, x] of containers) {
    it(`renders nothing for prototype keys of ${what}, as expressions read nothing there`, () => {
      for (const key of prototypeKeys) {
        assert.deepEqual(read(`x.${key}`, { x }), { text: '', value: MISSING }, key);
        assert.equal(compileExpression(`x["${key}"]`).evaluate({ vars: { x } }), undefined, `expression x["${key}"]`);
      }
    });
  }

  it('renders nothing for what a date or a buffer (SQL values) inherit, as expressions read nothing there', () => {
    const vars = { d: new Date(0), b: Buffer.from('ab'), m: new Map([['k', 1]]) };
    for (const name of ['d.getTime', 'd.toJSON', 'b.buffer', 'b.byteLength', 'b.readUInt8', 'm.size', 'm.get']) {
      assert.deepEqual(read(name, vars), { text: '', value: MISSING }, name);
      const [root, key] = name.split('.');
      assert.equal(compileExpression(`${root!}["${key!}"]`).evaluate({ vars }), undefined, `expression ${name}`);
    }
    assert.deepEqual(read('b.0', vars), { text: '97', value: 97 }, 'a buffer\'s bytes are its own');
  });

  it('renders nothing for prototype keys at the root ({{constructor}}, {{__proto__}}, {{toString}})', () => {
    for (const key of prototypeKeys) assert.deepEqual(read(key, { a: 1 }), { text: '', value: MISSING }, key);
  });

  it('keeps what expressions allow: a string\'s and an array\'s length, elements by index, own keys', () => {
    const vars = { s: 'abc', list: ['p', 'q'], o: { constructor: 'own', toString: 'also own', n: 0 } };
    assert.deepEqual(read('s.length', vars), { text: '3', value: 3 });
    assert.deepEqual(read('list.length', vars), { text: '2', value: 2 });
    assert.deepEqual(read('list.1', vars), { text: 'q', value: 'q' });
    assert.deepEqual(read('s.0', vars), { text: 'a', value: 'a' });
    assert.deepEqual(read('o.constructor', vars), { text: 'own', value: 'own' });
    assert.deepEqual(read('o.toString', vars), { text: 'also own', value: 'also own' });
    assert.deepEqual(read('o.n', vars), { text: '0', value: 0 });
    assert.equal(compileExpression('s.length').evaluate({ vars }), 3);
    assert.equal(compileExpression('list.length').evaluate({ vars }), 2);
  });

  it('reads a parallel branch\'s variables, which inherit from its user\'s (only Object.prototype is hidden)', () => {
    const user = { debate: 'd-1', data: { users: { id: 'u7' } } };
    const branch = Object.create(user) as Record<string, unknown>;
    const template = compileTemplate('/debates/{{debate}}?u={{data.users.id}}&c={{constructor}}');
    assert.equal(template.render(branch), '/debates/d-1?u=u7&c=');
  });

  it('renders a JSON body with a prototype key as missing', () => {
    const tree = { a: compileTemplate('{{x.constructor}}'), b: compileTemplate('{{x.y}}') };
    const body = renderTree(tree, { x: { y: 'ok' } });
    assert.deepEqual(body, { a: '', b: 'ok' });
  });
});
