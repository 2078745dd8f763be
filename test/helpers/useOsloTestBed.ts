import { afterEach, beforeEach } from 'vitest';

import { BusTriggers, closeOsloTestBed, openOsloTestBed, type OsloTestBed } from './busTestBed';
import type { TcpProxy } from './tcpProxy';

/** In a file of its own: busTestBed.ts is imported by the benchmarks too, which run without vitest. */
/**
 * A test file's bus bed: a fresh exchange and queue name before each test; after it, the
 * triggers closed, the proxy (if the test set one) stopped and the bed deleted.
 */
export function useOsloTestBed(prefixes: { exchange: string; queue: string }): {
	bed: OsloTestBed;
	triggers: BusTriggers;
	proxy?: TcpProxy;
} {
	const live = { bed: undefined as unknown as OsloTestBed, triggers: new BusTriggers() } as {
		bed: OsloTestBed;
		triggers: BusTriggers;
		proxy?: TcpProxy;
	};
	beforeEach(async () => {
		live.bed = await openOsloTestBed(prefixes);
	});
	afterEach(async () => {
		await live.triggers.closeAll();
		await live.proxy?.stop();
		live.proxy = undefined;
		if (live.bed) await closeOsloTestBed(live.bed);
	});
	return live;
}
