import * as assert from 'assert';
import { formatEvent, LineSplitter, parseEventLine, PROTOCOL_VERSION } from '../../src/core/protocol';

describe('protocol parser', () => {
  it('round-trips a point with non-finite losses', () => {
    for (const loss of [1.5, NaN, Infinity, -Infinity]) {
      const line = formatEvent({ type: 'point', iteration: 3, lr: 1e-3, loss, valLoss: NaN });
      const r = parseEventLine(line);
      assert.ok(r.ok);
      assert.ok(r.event.type === 'point');
      assert.ok(Object.is(r.event.loss, loss));
      assert.ok(Number.isNaN(r.event.valLoss));
    }
  });
  it('accepts null as NaN', () => {
    const r = parseEventLine('{"type":"point","iteration":0,"lr":0.1,"loss":null}');
    assert.ok(r.ok && r.event.type === 'point' && Number.isNaN(r.event.loss));
  });
  const bad: [string, RegExp][] = [
    ['', /empty line/],
    ['not json', /not JSON/],
    ['[1,2]', /expected a JSON object, got an array/],
    ['"x"', /expected a JSON object, got string/],
    ['{"type":"nope"}', /unknown event type "nope"/],
    ['{"iteration":1}', /unknown event type undefined/],
    ['{"type":"point","iteration":-1,"lr":1,"loss":1}', /"iteration" must be a non-negative integer/],
    ['{"type":"point","iteration":1.5,"lr":1,"loss":1}', /"iteration" must be a non-negative integer/],
    ['{"type":"point","iteration":1,"lr":0,"loss":1}', /"lr" must be a positive number/],
    ['{"type":"point","iteration":1,"lr":1,"loss":"abc"}', /"loss" must be a number/],
    ['{"type":"point","iteration":1,"lr":1,"loss":1,"valLoss":{}}', /"valLoss" must be/],
    ['{"type":"end","reason":"exploded","points":3}', /"reason" must be one of/],
    ['{"type":"end","reason":"completed"}', /"points" must be/],
    ['{"type":"error"}', /"message" must be a string/],
    [`{"type":"hello","protocol":${PROTOCOL_VERSION + 1},"backend":"wasm","config":{}}`, /protocol version .* is not supported/],
    ['{"type":"hello","protocol":1,"backend":3,"config":{}}', /"backend" must be a string/],
    ['{"type":"point","iteration":1,"lr":1,"loss":1', /not JSON/],
  ];
  for (const [line, re] of bad) {
    it(`rejects ${JSON.stringify(line).slice(0, 50)} with a clear message`, () => {
      const r = parseEventLine(line);
      assert.ok(!r.ok);
      assert.match(r.error, re);
    });
  }
  it('never throws on random garbage', () => {
    let seed = 1;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const alphabet = '{}[]":,0123456789.eE-+ abcdefghijklmnopqrstuvwxyz\\\u0000\u2028';
    for (let k = 0; k < 2000; k++) {
      let s = '';
      const len = Math.floor(rnd() * 60);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const r = parseEventLine(s);
      assert.strictEqual(typeof r.ok, 'boolean');
    }
  });
  it('splits chunks into lines', () => {
    const sp = new LineSplitter();
    assert.deepStrictEqual(sp.push('{"a":1}\n{"b"'), ['{"a":1}']);
    assert.deepStrictEqual(sp.push(':2}\r\n'), ['{"b":2}']);
    assert.deepStrictEqual(sp.flush(), []);
  });
});
