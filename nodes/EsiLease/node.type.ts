import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { EsiLeapClient } from '../core/api/client';

/** Every resource of the node and its operations. */
export type EsiLeaseMap = {
	lease: 'create' | 'get' | 'getAll' | 'updateEndTime' | 'delete';
	offer: 'create' | 'get' | 'getAll' | 'claim' | 'delete';
	node: 'getAll';
	event: 'getAll';
	consoleToken: 'create' | 'delete';
};

export type EsiLeaseResource = keyof EsiLeaseMap;

export interface EsiLeaseOperation {
	/** Completes "it needs …" in a 403's description (ESI Leap policy, spec §5.2). */
	requiredRole: string;
	/** One item's work: parameters in, ESI records out (one output item per record). */
	execute(
		this: IExecuteFunctions,
		client: EsiLeapClient,
		itemIndex: number,
	): Promise<IDataObject | IDataObject[]>;
}

export type EsiLeaseOperations = {
	[R in EsiLeaseResource]: Record<EsiLeaseMap[R], EsiLeaseOperation>;
};
