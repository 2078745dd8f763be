import type { INodeProperties } from 'n8n-workflow';

import { locatorProperty, readLocator } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import { asJson } from '../../helpers/fields';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('offer', 'get', [
	locatorProperty('offer', {
		name: 'offerId',
		description: 'The offer to retrieve, in any status',
	}),
]);

export const operation: EsiLeaseOperation = {
	requiredRole:
		'the admin, owner or lessee role (esi_leap:offer:get), and for an offer reserved to a lessee project, that project or admin',
	async execute(client, itemIndex) {
		const { value } = readLocator(this, 'offerId', itemIndex, 'offer');
		return asJson(await client.getOffer(value));
	},
};
