import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Config } from './config.types.js';

/** Injection token of the typed, validated Config. */
export const CONFIG = Symbol('carecast.config');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: CONFIG, useValue: config }],
      exports: [CONFIG],
    };
  }
}
