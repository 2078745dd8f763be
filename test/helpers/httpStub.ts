/**
 * A tiny local HTTP server whose answers a test scripts, for code that must go through a real
 * HTTP client (n8n's request helpers, undici). Listens on 127.0.0.1 and an ephemeral port.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubRequest {
	method: string;
	/** Path and query, as sent. */
	url: string;
	headers: IncomingHttpHeaders;
	/** Parsed JSON when the body is JSON, else the text ('' when empty). */
	body: unknown;
}

export interface StubAnswer {
	status: number;
	headers?: Record<string, string>;
	/** Objects and null are sent as JSON; strings as they are. */
	body?: unknown;
}

export interface HttpStub {
	url: string;
	requests: StubRequest[];
	close(): Promise<void>;
}

export async function startHttpStub(
	answer: (request: StubRequest, stubUrl: string) => StubAnswer | Promise<StubAnswer>,
): Promise<HttpStub> {
	const requests: StubRequest[] = [];
	let baseUrl = '';
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			const text = Buffer.concat(chunks).toString('utf8');
			let body: unknown = text;
			try {
				body = text ? (JSON.parse(text) as unknown) : '';
			} catch {
				body = text;
			}
			const request: StubRequest = {
				method: req.method ?? 'GET',
				url: req.url ?? '/',
				headers: req.headers,
				body,
			};
			requests.push(request);
			Promise.resolve(answer(request, baseUrl))
				.then((reply) => {
					const isText = typeof reply.body === 'string';
					const payload =
						reply.body === undefined
							? ''
							: isText
								? (reply.body as string)
								: JSON.stringify(reply.body);
					res.writeHead(reply.status, {
						'content-type': isText ? 'text/html' : 'application/json',
						...reply.headers,
					});
					res.end(payload);
				})
				.catch((error: unknown) => {
					res.writeHead(599, { 'content-type': 'text/plain' });
					res.end(String(error));
				});
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return {
		url: baseUrl,
		requests,
		close: async () =>
			await new Promise<void>((resolve, reject) => {
				server.closeAllConnections();
				server.close((error) => (error ? reject(error) : resolve()));
			}),
	};
}
