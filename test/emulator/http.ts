/** Small node:http helpers shared by the Keystone and ESI Leap servers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pyDumps } from './pyjson';

export interface Reply {
	status: number;
	headers?: Record<string, string>;
	/** Sent as is; JSON bodies are already serialized the way the real service does it. */
	body: string;
}

export function readBody(request: IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		request.on('error', reject);
	});
}

export function send(response: ServerResponse, reply: Reply): void {
	const body = Buffer.from(reply.body, 'utf8');
	response.writeHead(reply.status, {
		'Content-Type': 'application/json',
		...reply.headers,
		'Content-Length': String(body.length),
	});
	response.end(body);
}

export function json(status: number, value: unknown, headers?: Record<string, string>): Reply {
	return { status, headers, body: pyDumps(value) };
}

/** WSME's error body: `faultcode` Client for 4xx, Server otherwise. */
export function fault(status: number, faultstring: string): Reply {
	return json(status, {
		faultcode: status < 500 ? 'Client' : 'Server',
		faultstring,
		debuginfo: null,
	});
}

const REASONS: Record<number, string> = {
	404: 'Not Found',
	405: 'Method Not Allowed',
};

/** webob's default HTML error page, which pecan returns for routing failures. */
export function htmlError(status: 404 | 405, detail: string): Reply {
	const title = `${status} ${REASONS[status]}`;
	return {
		status,
		headers: { 'Content-Type': 'text/html; charset=UTF-8' },
		body: `<html>\n <head>\n  <title>${title}</title>\n </head>\n <body>\n  <h1>${title}</h1>\n  ${detail}<br /><br />\n\n\n\n </body>\n</html>`,
	};
}

export class HttpFault extends Error {
	constructor(readonly reply: Reply) {
		super(reply.body);
	}
}

/** Throws a WSME fault out of a handler; the router turns it into the reply. */
export function raise(status: number, faultstring: string): never {
	throw new HttpFault(fault(status, faultstring));
}
