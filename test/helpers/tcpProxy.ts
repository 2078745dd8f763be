import { createServer, connect as connectTcp } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/**
 * A TCP forwarder in front of the broker, so a test can cut every connection at once (the
 * management plugin's "close connection" is not available here) and refuse new ones for a while.
 */
export class TcpProxy {
	private server: Server | null = null;
	private readonly sockets = new Set<Socket>();
	private refusing = false;
	port = 0;

	constructor(
		private readonly targetHost: string,
		private readonly targetPort: number,
	) {}

	async start(): Promise<void> {
		this.server = createServer((client) => {
			if (this.refusing) {
				client.destroy();
				return;
			}
			const upstream = connectTcp(this.targetPort, this.targetHost);
			this.track(client);
			this.track(upstream);
			client.pipe(upstream);
			upstream.pipe(client);
			const end = () => {
				client.destroy();
				upstream.destroy();
			};
			client.on('error', end).on('close', end);
			upstream.on('error', end).on('close', end);
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.port = (this.server.address() as AddressInfo).port;
	}

	get connectionCount(): number {
		return this.sockets.size / 2;
	}

	/** Destroys every open connection (both directions), like a network failure. */
	cutAll(): void {
		for (const socket of this.sockets) socket.destroy();
		this.sockets.clear();
	}

	/** While true, new connections are accepted and closed at once. */
	setRefusing(refusing: boolean): void {
		this.refusing = refusing;
	}

	async stop(): Promise<void> {
		this.cutAll();
		await new Promise<void>((resolve) =>
			this.server ? this.server.close(() => resolve()) : resolve(),
		);
	}

	private track(socket: Socket) {
		this.sockets.add(socket);
		socket.on('close', () => this.sockets.delete(socket));
	}
}
