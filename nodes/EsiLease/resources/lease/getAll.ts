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
	{ name: 'Active', value: 'active' },
	{ name: 'Any', value: 'any', description: 'Every status, including deleted and expired' },
	{ name: 'Created', value: 'created' },
	{ name: 'Deleted', value: 'deleted' },
	{ name: 'Error', value: 'error' },
	{ name: 'Expired', value: 'expired' },
	{ name: 'Wait Cancel', value: 'wait cancel' },
	{ name: 'Wait Expire', value: 'wait expire' },
	{ name: 'Wait Fulfill', value: 'wait fulfill' },
];

export const description: INodeProperties[] = getManyDescription('lease', [
	{
		displayName: 'All Projects',
		name: 'viewAll',
		type: 'boolean',
		default: false,
		description:
			"Whether to list every project's leases (view=all; admin only). Otherwise the leases this project owns or leases.",
	},
	timeField(
		'endTime',
		'End Time',
		'End of a time window: leases overlapping [Start Time, End Time]. Needs Start Time.',
	),
	{
		displayName: 'Offer UUID',
		name: 'offerUuid',
		type: 'string',
		default: '',
		description: 'Only leases made by claiming this offer',
	},
	projectField(
		'ownerId',
		'Owner Project',
		'Only leases owned by this project (another project needs admin)',
	),
	projectField(
		'projectId',
		'Lessee Project',
		'Only leases held by this project (another project needs admin)',
	),
	resourceClassFilter('leases'),
	resourceTypeFilter('leases'),
	resourceUuidFilter('leases'),
	timeField(
		'startTime',
		'Start Time',
		'Start of a time window: leases overlapping [Start Time, End Time]. Needs End Time.',
	),
	statusFilter('leases', STATUS_OPTIONS, 'the live ones (created, active, error, wait *)'),
]);

export const operation = getManyOperation(
	"the admin, owner or lessee role (esi_leap:lease:get_all), and the admin role for other projects' leases or All Projects",
	async function (client, filters) {
		const window = readTimeWindow(this, filters, 'startTime', 'endTime');
		return await client.listLeases({
			projectId: readText(filters.projectId, 'projectId'),
			ownerId: readText(filters.ownerId, 'ownerId'),
			status: readText(filters.status, 'status'),
			startTime: window.start,
			endTime: window.end,
			offerUuid: readText(filters.offerUuid, 'offerUuid'),
			view: filters.viewAll === true ? 'all' : undefined,
			resourceType: readText(filters.resourceType, 'resourceType'),
			resourceUuid: readText(filters.resourceUuid, 'resourceUuid'),
			resourceClass: readText(filters.resourceClass, 'resourceClass'),
		});
	},
);
