/**
 * `npm run emulator -- [flags]`: the emulator on fixed ports for humans, the e2e test and the demo.
 * Prints the URLs and every credential; optionally runs a lease lifecycle every N seconds.
 */
import { startEmulator } from './index';

const write = (line: string) => process.stdout.write(line + '\n');
const warn = (line: string) => process.stderr.write(line + '\n');

function flag(name: string): string | undefined {
	const index = process.argv.indexOf(`--${name}`);
	return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
	const noAmqp = process.argv.includes('--no-amqp');
	const amqpUrl = noAmqp
		? undefined
		: (flag('amqp-url') ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
	const lifecycleEvery = Number(
		flag('lifecycle-every') ?? process.env.ESI_EMULATOR_LIFECYCLE_EVERY ?? 0,
	);
	const emulator = await startEmulator({
		host: flag('host') ?? process.env.ESI_EMULATOR_HOST ?? '127.0.0.1',
		keystonePort: Number(flag('keystone-port') ?? process.env.ESI_EMULATOR_KEYSTONE_PORT ?? 5000),
		esiPort: Number(flag('esi-port') ?? process.env.ESI_EMULATOR_ESI_PORT ?? 7777),
		amqpUrl,
		exchange: flag('exchange') ?? 'openstack',
		tickIntervalMs: Number(flag('tick-ms') ?? 1000),
		log: warn,
	});
	write(`Keystone auth URL : ${emulator.keystoneUrl}`);
	write(
		`ESI Leap root     : ${emulator.leaseUrl}   (catalog: service type "lease", region RegionOne)`,
	);
	write(
		`Notifications     : ${amqpUrl ? `${amqpUrl.replace(/\/\/[^@]*@/, '//***@')} exchange "${emulator.exchange}"` : 'off (events only)'}`,
	);
	write(`Control           : ${emulator.leaseUrl}/_emulator/<action>`);
	write('');
	for (const user of Object.values(emulator.users)) {
		write(
			`${user.name.padEnd(7)} password ${user.password.padEnd(12)} project ${user.projectName.padEnd(10)} ` +
				`(${user.projectId}) domain Default | app credential id ${user.applicationCredentialId} secret ${user.applicationCredentialSecret}`,
		);
	}
	let timer: NodeJS.Timeout | undefined;
	if (lifecycleEvery > 0) {
		let count = 0;
		const run = () => {
			const ending = count++ % 2 === 0 ? 'delete' : 'expire';
			emulator.control
				.runLifecycle({ ending, leaseSeconds: 5 })
				.then((result) =>
					write(
						`lifecycle (${ending}) lease ${result.leaseUuid}: events ${result.events.map((row) => row.id).join(',')}`,
					),
				)
				.catch((error: Error) => warn(`lifecycle failed: ${error.message}`));
		};
		write(`\nRunning a lease lifecycle every ${lifecycleEvery}s.`);
		run();
		timer = setInterval(run, lifecycleEvery * 1000);
	}
	const shutdown = () => {
		if (timer) clearInterval(timer);
		void emulator.stop().then(() => process.exit(0));
	};
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
}

main().catch((error: Error) => {
	warn(`emulator failed to start: ${error.message}`);
	process.exit(1);
});
