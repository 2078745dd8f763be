import type { INodeProperties } from 'n8n-workflow';

import {
	projectField,
	resourceClassFilter,
	resourceTypeFilter,
	resourceUuidFilter,
	statusFilter,
	timeField,
} from '../../helpers/fields';
import { getManyDescription, getManyOperation } from '../../helpers/getMany';
import { readText, readTimeWindow } from '../../helpers/parameters';

const STATUS_OPTIONS = [
	{ name: 'Any', value: 'any', description: 'Every status, including deleted and expired' },
	{ name: 'Available', value: 'available' },
	{ name: 'Deleted', value: 'deleted' },
	{ name: 'Error', value: 'error' },
	{ name: 'Expired', value: 'expired' },
];

export const description: INodeProperties[] = getManyDescription('offer', [
	timeField(
		'availableEndTime',
		'Available End Time',
		'End of a window the offer must be free over. Needs Available Start Time.',
	),
	timeField(
		'availableStartTime',
		'Available Start Time',
		'Start of a window the offer must be free over (no created or active lease in it). Needs Available End Time.',
	),
	timeField(
		'endTime',
		'End Time',
		"End of a window the offer's own start and end must contain. Needs Start Time.",
	),
	projectField('projectId', 'Owner Project', 'Only offers created by this project'),
	resourceClassFilter('offers'),
	resourceTypeFilter('offers'),
	resourceUuidFilter('offers'),
	timeField(
		'startTime',
		'Start Time',
		"Start of a window the offer's own start and end must contain. Needs End Time.",
	),
	statusFilter('offers', STATUS_OPTIONS, 'available and error offers'),
]);

export const operation = getManyOperation(
	'the admin, owner or lessee role (esi_leap:offer:get_all)',
	async function (client, filters) {
		const window = readTimeWindow(this, filters, 'startTime', 'endTime');
		const available = readTimeWindow(this, filters, 'availableStartTime', 'availableEndTime');
		return await client.listOffers({
			projectId: readText(filters.projectId, 'projectId'),
			resourceType: readText(filters.resourceType, 'resourceType'),
			resourceUuid: readText(filters.resourceUuid, 'resourceUuid'),
			resourceClass: readText(filters.resourceClass, 'resourceClass'),
			startTime: window.start,
			endTime: window.end,
			availableStartTime: available.start,
			availableEndTime: available.end,
			status: readText(filters.status, 'status'),
		});
	},
);
