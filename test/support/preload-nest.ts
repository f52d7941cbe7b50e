/**
 * Jest `setupFiles` preload. The CommonJS Nest plugins (@nestjs/throttler,
 * @willsoto/nestjs-prometheus) `require('@nestjs/common')`; under Jest's ESM mode that require
 * must find the package already loaded through the ESM graph, or it loads a second copy whose
 * decorators and tokens Nest does not recognise. Importing both packages first settles it
 * (Node >= 24.9 is needed for require of the ESM builds).
 */
import '@nestjs/common';
import '@nestjs/core';
