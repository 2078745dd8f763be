/**
 * The demo's ports, checked before anything starts: a default port that is taken (5000 often is:
 * macOS AirPlay, Flask, a real Keystone) is replaced by the next free one, and the demo says so;
 * a port the user set through its variable is kept and must be free, or the demo stops and names
 * the variable.
 */
import net from 'node:net';

export interface PortWish {
	/** What listens there, for the message ("Keystone"). */
	label: string;
	/** The environment variable that sets it ("DEMO_KEYSTONE_PORT"). */
	variable: string;
	port: number;
	/** Set by the user: never moved. */
	explicit: boolean;
}

const HOST = '127.0.0.1';
/** How far above a busy default port to look before asking the OS for any free port. */
const SEARCH_SPAN = 50;

/** Free when nothing answers on it and it can be bound on 127.0.0.1 (where the demo listens). */
export async function isPortFree(port: number, host = HOST): Promise<boolean> {
	const answers = await new Promise<boolean>((resolve) => {
		const socket = net.connect({ port, host });
		socket.setTimeout(500);
		socket.once('connect', () => {
			socket.destroy();
			resolve(true);
		});
		socket.once('timeout', () => {
			socket.destroy();
			resolve(false);
		});
		socket.once('error', () => resolve(false));
	});
	if (answers) return false;
	return new Promise((resolve) => {
		const server = net.createServer();
		server.once('error', () => resolve(false));
		server.listen(port, host, () => server.close(() => resolve(true)));
	});
}

async function anyFreePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, HOST, () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/**
 * One port per wish, all different. A busy explicit port throws naming its variable; a busy
 * default moves to the next free port above it and is logged with the variable to pin it.
 */
export async function pickPorts(
	wishes: PortWish[],
	log: (line: string) => void,
): Promise<number[]> {
	const chosen: number[] = [];
	for (const wish of wishes) {
		const usable = async (port: number) => !chosen.includes(port) && (await isPortFree(port));
		if (await usable(wish.port)) {
			chosen.push(wish.port);
			continue;
		}
		if (wish.explicit) {
			throw new Error(
				`port ${wish.port} for ${wish.label} (${wish.variable}) is in use: set ${wish.variable} to a free port, or unset it to let the demo pick one`,
			);
		}
		let port: number | undefined;
		for (let candidate = wish.port + 1; candidate <= wish.port + SEARCH_SPAN; candidate++) {
			if (await usable(candidate)) {
				port = candidate;
				break;
			}
		}
		while (port === undefined) {
			const candidate = await anyFreePort();
			if (!chosen.includes(candidate)) port = candidate;
		}
		log(
			`port ${wish.port} (${wish.label}) is in use: using ${port} instead (set ${wish.variable} to choose)`,
		);
		chosen.push(port);
	}
	return chosen;
}
