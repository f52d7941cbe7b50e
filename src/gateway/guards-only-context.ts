import { ExternalContextCreator, type ModulesContainer, type NestContainer } from '@nestjs/core';
import { ExternalExceptionFilterContext } from '@nestjs/core/exceptions/external-exception-filter-context.js';
import { GuardsConsumer, GuardsContextCreator } from '@nestjs/core/guards/index.js';
import {
  InterceptorsConsumer,
  InterceptorsContextCreator,
} from '@nestjs/core/interceptors/index.js';
import { PipesConsumer, PipesContextCreator } from '@nestjs/core/pipes/index.js';

/**
 * An ExternalContextCreator that applies a host method's own `@UseGuards` classes and
 * nothing global.
 *
 * Nest's injectable ExternalContextCreator is built with the application config, and its
 * guard lookup prepends every global guard (APP_GUARD, `useGlobalGuards`) whatever the
 * context type: a custom type only tells those guards what they are looking at, it does not
 * keep them out. A global guard written for HTTP (the ticket throttler) would then run on an
 * upgrade and fail on a socket it takes for a response. Built without the application
 * config, the context creators here have no global guards, interceptors, pipes or filters to
 * consult; guards are still resolved as the host module's enhancers, with their injections.
 *
 * The creators read nothing of the container but its modules, so a view of ModulesContainer
 * (an injectable token) stands in for NestContainer, which Nest does not inject.
 */
export function guardsOnlyContextCreator(modules: ModulesContainer): ExternalContextCreator {
  const container = { getModules: () => modules } as unknown as NestContainer;
  return new ExternalContextCreator(
    new GuardsContextCreator(container),
    new GuardsConsumer(),
    new InterceptorsContextCreator(container),
    new InterceptorsConsumer(),
    modules,
    new PipesContextCreator(container),
    new PipesConsumer(),
    new ExternalExceptionFilterContext(container),
  );
}
