/**
 * Normalizes pasted PEM certificates. n8n shows secret-like fields as single-line inputs, which
 * drop line breaks, and people paste `\n` escapes from JSON or env files; Node's TLS needs the
 * canonical shape (header line, base64 in 64-character lines, footer line).
 */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export function normalizePem(text: string): string {
	const unescaped = text.replace(/\\n/g, '\n');
	const blocks: string[] = [];
	for (const [, label, content] of unescaped.matchAll(PEM_BLOCK)) {
		const base64 = content.replace(/\s+/g, '');
		const lines = base64.match(/.{1,64}/g) ?? [];
		blocks.push([`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`].join('\n'));
	}
	return blocks.length > 0 ? `${blocks.join('\n')}\n` : unescaped.trim();
}
