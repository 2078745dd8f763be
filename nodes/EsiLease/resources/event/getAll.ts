import type { INodeProperties } from 'n8n-workflow';

import { SHORT_EVENT_TYPES } from '../../../core/events/types';
import { invalidParameter } from '../../../shared/locators';
import {
	projectField,
	resourceTypeFilter,
	resourceUuidFilter,
	timeField,
} from '../../helpers/fields';
import { getManyDescription, getManyOperation } from '../../helpers/getMany';
import { readText, readTime } from '../../helpers/parameters';

export const description: INodeProperties[] = getManyDescription('event', [
	{
		displayName: 'Event Type',
		name: 'eventType',
		type: 'options',
		options: SHORT_EVENT_TYPES.map((short) => ({
			name: `Lease ${short.replace('.', ' ').replace(/\b\w/g, (c) => c.toUpperCase())}`,
			value: `esi_leap.lease.${short}`,
		})),
		default: 'esi_leap.lease.fulfill.end',
		description: 'Only events of this type',
	},
	{
		displayName: 'After Event ID',
		name: 'lastEventId',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: 'Only events with a larger ID (0: no limit)',
	},
	timeField(
		'lastEventTime',
		'After Time',
		'Only events after this time (ESI Leap compares with its local time, normally UTC)',
	),
	projectField(
		'lesseeOrOwnerId',
		'Project',
		'Only events of leases this project holds or owns (admins only; others always see just their project)',
	),
	resourceTypeFilter('events'),
	resourceUuidFilter('events'),
]);

export const operation = getManyOperation(
	'a token of a project ESI Leap knows',
	async function (client, filters) {
		const lastEventId = filters.lastEventId;
		if (
			lastEventId !== undefined &&
			(typeof lastEventId !== 'number' || !Number.isInteger(lastEventId) || lastEventId < 0)
		) {
			throw invalidParameter(
				'lastEventId',
				`must be a whole number ≥ 0, got ${String(lastEventId)}`,
			);
		}
		// Sorted by id, so a limit keeps the oldest events after the cursor.
		return await client.listEvents({
			lastEventId: lastEventId as number | undefined,
			lastEventTime: readTime(filters.lastEventTime, this, 'lastEventTime'),
			lesseeOrOwnerId: readText(filters.lesseeOrOwnerId, 'lesseeOrOwnerId'),
			eventType: readText(filters.eventType, 'eventType'),
			resourceType: readText(filters.resourceType, 'resourceType'),
			resourceUuid: readText(filters.resourceUuid, 'resourceUuid'),
		});
	},
);
