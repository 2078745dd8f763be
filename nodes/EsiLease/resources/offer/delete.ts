import type { INodeProperties } from 'n8n-workflow';

import { locatorProperty } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import { deleteLocated } from '../../helpers/deleted';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('offer', 'delete', [
	locatorProperty('offer', {
		name: 'offerId',
		description:
			'The offer to cancel (available or error offers only). Its open leases are cancelled too.',
	}),
]);

export const operation: EsiLeaseOperation = {
	requiredRole:
		'the admin role, or to be the project that created the offer (esi_leap:offer:delete)',
	async execute(client, itemIndex) {
		return await deleteLocated(this, itemIndex, 'offerId', 'offer', (id) => client.deleteOffer(id));
	},
};
