import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
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
  const EVERY_EVENT = [
    '{"type":"hello","protocol":1,"backend":"wasm","backendReason":"r","warnings":[],"config":{"model":"Dense(3)","numIter":100,"startLr":1e-7,"endLr":10}}',
    '{"type":"hello","protocol":2,"engine":"tfjs","backend":"wasm","backendReason":"r","warnings":[],"config":{"startLr":1e-7,"endLr":10,"numIter":100,"mode":"exponential","stopFactor":4,"smoothing":0.98,"model":"Dense(3)"}}',
    '{"type":"hello","protocol":2,"engine":"torch","backend":"cpu","backendReason":"PyTorch","warnings":["w"],"config":{"startLr":1e-7,"endLr":10,"numIter":100,"mode":"exponential","stopFactor":4,"smoothing":0.98},' +
      '"script":{"python":"/usr/bin/python3","argv":["train.py"],"module":null,"cwd":"/w","torch":"1.13","device":"cpu","optimizers":[{"class":"Adam","module":"torch.optim.adam","groups":[{"lr":0.001,"params":10,"maxLr":0.01}]}],"options":[{"option":"--lr","dest":"lr","default":0.001,"value":0.001}],"filesRead":["c.yaml"]}}',
    '{"type":"point","iteration":0,"lr":1e-7,"loss":0.5}',
    '{"type":"point","iteration":1,"lr":1e-6,"loss":"NaN","valLoss":null}',
    '{"type":"end","reason":"diverged","points":2,"seconds":0.1,"skipped":1}',
    '{"type":"error","message":"m","file":"/w/train.py","line":3,"code":"script-failed"}',
    '{"type":"report","blocked":[{"what":"torch.save","path":"a.pt"}],"restored":[{"path":"runs/","action":"removed"}],"outside":["/tmp/x"],"notes":[]}',
    '{"type":"status","state":"pending","job":"12","reason":"Resources","message":"job 12 is waiting for resources"}',
    '{"type":"hello","protocol":2,"engine":"tfjs","backend":"wasm","backendReason":"","warnings":[],"config":{"numIter":100},"verify":{"lr":0.01,"steps":250,"seed":0}}',
    '{"type":"candidate","lr":0.01,"seed":0,"steps":250,"loss":0.31,"trainLoss":0.2,"diverged":false,"signal":"held-out","rows":30,"batches":2,"seconds":1.5}',
    '{"type":"candidate","lr":10,"seed":1,"steps":12,"loss":"Infinity","trainLoss":"NaN","diverged":true,"signal":"validation"}',
    '{"type":"verified","lr":0.01,"center":0.01,"candidates":[{"lr":0.01,"losses":[0.31],"loss":0.31,"spread":0,"diverged":false},{"lr":10,"losses":["Infinity"],"loss":"Infinity","spread":0,"diverged":true}],"atEdge":"low","steps":250,"seeds":1,"signal":"held-out","totalSteps":262,"partial":false,"explanation":"e"}',
  ];
  it('the schema and the reader agree on every event type of both versions', () => {
    const schema = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../schemas/protocol.schema.json'), 'utf8'));
    const validate = new Ajv({ strict: false }).compile(schema);
    const types = new Set<string>();
    for (const line of EVERY_EVENT) {
      const r = parseEventLine(line);
      assert.ok(r.ok, `${line}: ${!r.ok ? r.error : ''}`);
      types.add(r.event.type);
      assert.ok(validate(JSON.parse(line)), `${line}: ${JSON.stringify(validate.errors)}`);
      if (r.event.type !== 'hello' || JSON.parse(line).protocol === 2) assert.ok(validate(JSON.parse(formatEvent(r.event))), `re-encoded ${line}`);
    }
    assert.deepStrictEqual([...types].sort(), ['candidate', 'end', 'error', 'hello', 'point', 'report', 'status', 'verified']);
  });
  it('reads a version 1 hello as the tfjs engine, and the script summary of a version 2 one', () => {
    const v1 = parseEventLine(EVERY_EVENT[0]);
    assert.ok(v1.ok && v1.event.type === 'hello' && v1.event.engine === 'tfjs');
    const v2 = parseEventLine(EVERY_EVENT[2]);
    assert.ok(v2.ok && v2.event.type === 'hello');
    assert.deepStrictEqual(v2.event.script?.optimizers[0].groups[0], { lr: 0.001, params: 10, maxLr: 0.01 });
    assert.ok(!parseEventLine('{"type":"hello","protocol":2,"backend":"cpu","config":{"numIter":"x"}}').ok);
  });
});
