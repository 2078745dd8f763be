import type { INodeProperties } from 'n8n-workflow';

import { locatorProperty, readLocator } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import { asJson } from '../../helpers/fields';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('lease', 'get', [
	locatorProperty('lease', {
		name: 'leaseId',
		description: 'The lease to retrieve, in any status',
	}),
]);

export const operation: EsiLeaseOperation = {
	requiredRole: "the admin role, or to be the lease's owner or lessee project (esi_leap:lease:get)",
	async execute(client, itemIndex) {
		const { value } = readLocator(this, 'leaseId', itemIndex, 'lease');
		return asJson(await client.getLease(value));
	},
};
