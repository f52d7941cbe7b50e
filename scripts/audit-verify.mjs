// Entry point of `npm run audit:verify`. The verifier is TypeScript compiled with the app
// (`preaudit:verify` builds it when dist/ is stale); this file only hands it argv, the environment and
// stdout/stderr. Where dist/ is already built (a deployed image): node scripts/audit-verify.mjs.
import process from 'node:process';
import { runAuditVerify } from '../dist/audit/verify-cli.js';

process.exitCode = await runAuditVerify(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
