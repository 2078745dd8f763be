/**
 * Removes secrets from text that may reach a log line, an error message or an output item:
 * the known secret values of a credential, plus anything shaped like a Keystone token or a
 * password/secret/token field.
 */
const MASK = '***';

// Keystone fernet tokens start with gAAAAA; UUID/PKI tokens are caught by the header rule.
const FERNET_TOKEN = /gAAAAA[A-Za-z0-9_-]{20,}={0,2}/g;
const TOKEN_HEADER = /(x-(?:auth|subject)-token["']?\s*[:=]\s*["']?)[^\s"',}]+/gi;
const SECRET_FIELD =
	/(["']?(?:password|secret|token|auth_token|_context_auth_token)["']?\s*[:=]\s*["']?)(?!null\b)[^\s"',}]+/gi;

export function redact(text: string, secrets: ReadonlyArray<string | undefined> = []): string {
	let result = text;
	for (const secret of secrets) {
		// Very short values would mask ordinary words; credentials this short are not real ones.
		if (secret && secret.length >= 4) result = result.split(secret).join(MASK);
	}
	return result
		.replace(FERNET_TOKEN, MASK)
		.replace(TOKEN_HEADER, `$1${MASK}`)
		.replace(SECRET_FIELD, `$1${MASK}`);
}
