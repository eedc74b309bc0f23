// Template rendering, the first thing every HTTP step does: a URL with one placeholder and a JSON body.
import { compileTemplate, renderTree, type TemplateTree } from '../engine/compile/template.js';
import { measure, type BenchModule } from './run.js';

const url = compileTemplate('/debates/{{debate}}/votes?user={{data.users.id}}');
const body: TemplateTree = { user: compileTemplate('{{data.users.id}}'), side: compileTemplate('pro'), n: 3 };
const vars = { debate: 'd-17', data: { users: { id: 'u42' } } };

const bench: BenchModule = {
  name: 'templates (engine/compile/template.ts)',
  run: () => [
    measure('baseline: string concatenation by hand', () => `/debates/${vars.debate}/votes?user=${vars.data.users.id}`),
    measure('render: /debates/{{debate}}/votes?user={{data.users.id}}', () => url.render(vars), { maxNsPerOp: 2000 }),
    measure('renderTree: a 3-field JSON body', () => renderTree(body, vars)),
  ],
};
export default bench;
