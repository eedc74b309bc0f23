// Shared by the generators: write a generated file, or with --check fail when the committed one differs.
import { readFile, writeFile } from 'node:fs/promises';

export async function writeOrCheck(path, body, label) {
  if (process.argv.includes('--check')) {
    const current = await readFile(path, 'utf8').catch(() => '');
    if (current !== body) {
      console.error(`${label} is stale: run \`npm run generate\` and commit the result.`);
      process.exit(1);
    }
    console.log(`${label} is up to date.`);
  } else {
    await writeFile(path, body);
    console.log(`wrote ${label}`);
  }
}
