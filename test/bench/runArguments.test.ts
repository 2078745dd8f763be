import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { parseArguments } from '../../bench/run';

const BENCH = path.resolve(__dirname, '..', '..', 'bench');

describe('npm run bench arguments', () => {
	it('writes the git-ignored RESULTS.local.md unless asked to update the committed results', () => {
		expect(parseArguments([])).toEqual({
			parts: ['bus', 'soak', 'history', 'n8n', 'reconcile', 'watch'],
			resultsFile: path.join(BENCH, 'RESULTS.local.md'),
		});
		expect(parseArguments(['history'])?.resultsFile).toBe(path.join(BENCH, 'RESULTS.local.md'));
		expect(parseArguments(['bus', '--update-results', 'history'])).toEqual({
			parts: ['bus', 'history'],
			resultsFile: path.join(BENCH, 'RESULTS.md'),
		});
	});

	it('asks for the usage with --help or -h, whatever else is given', () => {
		expect(parseArguments(['--help'])).toBeNull();
		expect(parseArguments(['bus', '-h'])).toBeNull();
	});

	it('refuses unknown parts and options with the usage', () => {
		expect(() => parseArguments(['bsu'])).toThrow(
			/unknown part\(s\) bsu; use bus, soak, history, n8n, reconcile, watch\n\nUsage:/,
		);
		expect(() => parseArguments(['--update'])).toThrow(/unknown option\(s\) --update\n\nUsage:/);
	});
});
