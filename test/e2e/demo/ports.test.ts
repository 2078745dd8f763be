import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { isPortFree, pickPorts, type PortWish } from './ports';

/** Holds a port the way another program would (listening on 127.0.0.1). */
async function occupy(port = 0): Promise<net.Server> {
	const server = net.createServer((socket) => socket.destroy());
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '127.0.0.1', () => resolve());
	});
	return server;
}

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;

describe('demo port picking', () => {
	const servers: net.Server[] = [];
	afterEach(async () => {
		for (const server of servers.splice(0))
			await new Promise<void>((resolve) => server.close(() => resolve()));
	});

	async function busyPort(): Promise<number> {
		const server = await occupy();
		servers.push(server);
		return portOf(server);
	}

	async function freedPort(): Promise<number> {
		const server = await occupy();
		const port = portOf(server);
		await new Promise<void>((resolve) => server.close(() => resolve()));
		return port;
	}

	const wish = (port: number, explicit = false): PortWish => ({
		label: 'Keystone',
		variable: 'DEMO_KEYSTONE_PORT',
		port,
		explicit,
	});

	it('sees a bound port as busy and a released one as free', async () => {
		const busy = await busyPort();
		expect(await isPortFree(busy)).toBe(false);
		expect(await isPortFree(await freedPort())).toBe(true);
	});

	it('keeps a free default port and says nothing', async () => {
		const port = await freedPort();
		const log: string[] = [];
		expect(await pickPorts([wish(port)], (line) => log.push(line))).toEqual([port]);
		expect(log).toEqual([]);
	});

	it('moves a busy default port to a free one and prints it with the variable to pin it', async () => {
		const busy = await busyPort();
		const log: string[] = [];
		const [port] = await pickPorts([wish(busy)], (line) => log.push(line));
		expect(port).not.toBe(busy);
		expect(await isPortFree(port)).toBe(true);
		expect(log).toEqual([
			`port ${busy} (Keystone) is in use: using ${port} instead (set DEMO_KEYSTONE_PORT to choose)`,
		]);
	});

	it('never hands out the same port twice', async () => {
		const busy = await busyPort();
		const ports = await pickPorts(
			[wish(busy), { ...wish(busy), label: 'ESI Leap', variable: 'DEMO_ESI_PORT' }],
			() => undefined,
		);
		expect(new Set(ports).size).toBe(2);
		expect(ports).not.toContain(busy);
	});

	it('refuses a busy port the user chose, naming the variable', async () => {
		const busy = await busyPort();
		await expect(pickPorts([wish(busy, true)], () => undefined)).rejects.toThrow(
			`port ${busy} for Keystone (DEMO_KEYSTONE_PORT) is in use: set DEMO_KEYSTONE_PORT to a free port, or unset it to let the demo pick one`,
		);
	});
});
