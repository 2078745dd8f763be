import type { INodeProperties } from 'n8n-workflow';

import { locatorProperty, readLocator } from '../../../shared/locators';
import { scoped } from '../../../shared/scoped';
import {
	additionalFieldsCollection,
	asJson,
	nameField,
	propertiesField,
	purposeField,
	timeField,
} from '../../helpers/fields';
import { readNewRecordFields, readPurpose } from '../../helpers/parameters';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('offer', 'claim', [
	locatorProperty('offer', {
		name: 'offerId',
		description:
			'The available offer to claim. A name is looked up among available offers and must be unique.',
	}),
	additionalFieldsCollection([
		timeField(
			'endTime',
			'End Time',
			'When the lease ends (default: 7 days after the start, or earlier if the offer or the next lease says so; at most 21 days unless admin)',
		),
		nameField('Name of the new lease'),
		propertiesField('Free-form properties stored with the new lease'),
		purposeField,
		timeField('startTime', 'Start Time', 'When the lease starts (default: now)'),
	]),
]);

export const operation: EsiLeaseOperation = {
	requiredRole:
		'the admin, owner or lessee role (esi_leap:offer:claim), and for an offer reserved to a lessee project, that project or admin; leases longer than 21 days need admin',
	async execute(client, itemIndex) {
		const { fields, common } = readNewRecordFields(this, itemIndex);
		const input = { ...common, purpose: readPurpose(fields) };
		const located = readLocator(this, 'offerId', itemIndex, 'offer');
		// ESI copies the claim path into the lease, so it must be the UUID (spec §2.4).
		const offerUuid =
			located.mode === 'name'
				? await client.resolveOfferUuid(located.value, { status: 'available' })
				: located.value;
		return asJson(await client.claimOffer(offerUuid, input));
	},
};
