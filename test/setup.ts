import { initBackend } from '../src/tensor/backend.js';

await initBackend();
