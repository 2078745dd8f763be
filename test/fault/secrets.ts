import { expect } from 'vitest';

/**
 * Fails when any secret occurs in any captured text (log lines, failed executions, emitted items,
 * errors). Reports where, never the secret itself, so a failing run does not print it either.
 */
export function expectNoSecrets(texts: string[], secrets: Iterable<string>): void {
	const wanted = [...new Set(secrets)].filter((secret) => secret.length >= 4);
	expect(wanted.length, 'secrets to look for').toBeGreaterThan(0);
	const leaks: string[] = [];
	for (const [textIndex, text] of texts.entries()) {
		for (const [secretIndex, secret] of wanted.entries()) {
			const at = text.indexOf(secret);
			if (at !== -1) leaks.push(`secret #${secretIndex} in captured text #${textIndex} at ${at}`);
		}
	}
	expect(leaks).toEqual([]);
}
