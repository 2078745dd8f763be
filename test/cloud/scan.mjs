// Runs @n8n/scan-community-package's analyzer on a directory and prints its result as JSON:
//   node test/cloud/scan.mjs <directory> [pattern...]
// A process of its own, so that the rules see the environment n8n's scan has (no NODE_ENV=test).
import { analyzePackage } from '@n8n/scan-community-package/scanner/scanner.mjs';

const [directory, ...patterns] = process.argv.slice(2);
const result = await analyzePackage(directory, patterns.length > 0 ? patterns : undefined);
process.stdout.write(
	`${JSON.stringify({ passed: result.passed, message: result.message, details: result.details })}\n`,
);
