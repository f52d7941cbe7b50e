import { Controller, Delete, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import { ApiNoContentResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiErrors, PublisherSigned } from '../api-docs/api-responses.js';
import { OPAQUE_ID_SCHEMA } from '../api-docs/json-schemas.js';
import { AuditService } from '../audit/audit.service.js';
import { careTeamChanged } from '../core/audit-entries.js';
import { encodeControl } from '../core/control-commands.js';
import { isOpaqueId, type OpaqueId } from '../core/opaque-id.js';
import { Bus } from '../fanout/bus.js';
import { ApiError, unavailableOnFailure } from '../http/api-error.js';
import { NO_BODY } from '../http/response-shape.js';
import { ResponseShape } from '../http/response-shape.interceptor.js';
import { CareTeamStore } from '../stores/care-team-store/care-team-store.js';
import { PublisherSignatureGuard } from './publisher-signature.guard.js';

/**
 * `PUT|DELETE /internal/v1/care-teams/<patientId>/members/<doctorId>` (contract §5). A removal
 * is broadcast to every node, which re-evaluates that doctor's live subscriptions to the
 * patient's channel and revokes those the policy no longer allows.
 */
@Controller('internal/v1/care-teams/:patientId/members/:doctorId')
@UseGuards(PublisherSignatureGuard)
@ApiTags('care teams')
@PublisherSigned()
@ApiParam({ name: 'patientId', schema: OPAQUE_ID_SCHEMA })
@ApiParam({ name: 'doctorId', schema: { ...OPAQUE_ID_SCHEMA, examples: ['dr-7f3k2m9q'] } })
@ApiErrors('invalid_payload', 'unavailable')
export class CareTeamsController {
  constructor(
    private readonly store: CareTeamStore,
    private readonly bus: Bus,
    private readonly audit: AuditService,
  ) {}

  @Put()
  @ApiOperation({ summary: "Put a doctor on a patient's care team" })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Done, also when nothing changed.' })
  @ResponseShape(NO_BODY)
  async add(@Param('patientId') patient: string, @Param('doctorId') doctor: string) {
    const ids = validIds(patient, doctor);
    await unavailableOnFailure(this.store.add(patient, doctor));
    this.audit.record(careTeamChanged('careteam.added', ids.patient, ids.doctor));
  }

  @Delete()
  @ApiOperation({
    summary: "Remove a doctor from a patient's care team",
    description:
      "Every live subscription of the doctor to the patient's channel, on every node, ends with a `revoked` frame.",
  })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Done, also when nothing changed.' })
  @ResponseShape(NO_BODY)
  async remove(@Param('patientId') patient: string, @Param('doctorId') doctor: string) {
    const ids = validIds(patient, doctor);
    await unavailableOnFailure(this.store.remove(patient, doctor));
    // Broadcast even when the doctor was not a member: a retried DELETE must still revoke.
    await unavailableOnFailure(
      this.bus.publishControl(encodeControl({ type: 'careteam.removed', patient, doctor })),
    );
    // Audited with the doctor as actor and the patient's channel, whose authorization changed.
    this.audit.record(careTeamChanged('careteam.removed', ids.patient, ids.doctor));
  }
}

function validIds(patient: string, doctor: string): { patient: OpaqueId; doctor: OpaqueId } {
  if (isOpaqueId(patient) && isOpaqueId(doctor)) return { patient, doctor };
  const fields = [
    ...(isOpaqueId(patient) ? [] : ['patientId']),
    ...(isOpaqueId(doctor) ? [] : ['doctorId']),
  ];
  throw new ApiError('invalid_payload', {}, fields);
}
