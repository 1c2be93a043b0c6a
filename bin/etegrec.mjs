#!/usr/bin/env node
// ESM shim: registers tsx so the TypeScript CLI runs directly (npx etegrec …).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
