#!/usr/bin/env node
// Runs the platform's TypeScript server through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../src/server/main.ts');
