import type { INodeProperties } from 'n8n-workflow';

import { locatorProperty } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import { deleteLocated } from '../../helpers/deleted';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('lease', 'delete', [
	locatorProperty('lease', {
		name: 'leaseId',
		description:
			'The lease to cancel. Only created, active, error and wait-fulfill leases can be cancelled.',
	}),
]);

export const operation: EsiLeaseOperation = {
	// ESI checks esi_leap:lease:get here, not lease:delete (spec §3.2); both default the same.
	requiredRole: "the admin role, or to be the lease's owner or lessee project (esi_leap:lease:get)",
	async execute(client, itemIndex) {
		return await deleteLocated(this, itemIndex, 'leaseId', 'lease', (id) => client.deleteLease(id));
	},
};
