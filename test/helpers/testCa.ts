/**
 * A throw-away certificate authority for TLS tests, made with the `openssl` CLI (spawned without
 * a shell) in a folder the caller removes: a CA, a server certificate it signed for
 * `localhost` / `127.0.0.1`, a client certificate for mutual TLS, and a second, unrelated CA that
 * signed nothing the server presents ("wrong CA" tests). Every file stays in `dir` as
 * `<name>.pem` / `<name>.key` (ca, other-ca, server, client).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsMaterial {
	ca: string;
	/** A CA that signed nothing this server presents. */
	otherCa: string;
	serverCert: string;
	serverKey: string;
	clientCert: string;
	clientKey: string;
}

async function openssl(cwd: string, ...args: string[]) {
	await run('openssl', args, { cwd });
}

/** `openssl req` arguments for a new P-256 key `<name>.key` (unencrypted) and subject CN=name. */
function newKey(name: string): string[] {
	return [
		'-newkey',
		'ec',
		'-pkeyopt',
		'ec_paramgen_curve:prime256v1',
		'-nodes',
		'-subj',
		`/CN=${name}`,
		'-keyout',
		`${name}.key`,
	];
}

async function makeCa(dir: string, name: string) {
	await openssl(dir, 'req', '-x509', '-days', '2', ...newKey(name), '-out', `${name}.pem`);
}

async function makeSigned(dir: string, ca: string, name: string, extensions: string) {
	await writeFile(join(dir, `${name}.ext`), extensions);
	await openssl(dir, 'req', ...newKey(name), '-out', `${name}.csr`);
	await openssl(
		dir,
		'x509',
		'-req',
		'-in',
		`${name}.csr`,
		'-CA',
		`${ca}.pem`,
		'-CAkey',
		`${ca}.key`,
		'-CAcreateserial',
		'-days',
		'2',
		'-extfile',
		`${name}.ext`,
		'-out',
		`${name}.pem`,
	);
}

export async function makeTlsMaterial(dir: string): Promise<TlsMaterial> {
	await mkdir(dir, { recursive: true });
	await makeCa(dir, 'ca');
	await makeCa(dir, 'other-ca');
	await makeSigned(
		dir,
		'ca',
		'server',
		'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
	);
	await makeSigned(dir, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
	const read = (file: string) => readFile(join(dir, file), 'utf8');
	return {
		ca: await read('ca.pem'),
		otherCa: await read('other-ca.pem'),
		serverCert: await read('server.pem'),
		serverKey: await read('server.key'),
		clientCert: await read('client.pem'),
		clientKey: await read('client.key'),
	};
}
