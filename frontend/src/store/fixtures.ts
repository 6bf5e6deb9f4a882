import { readFileSync } from 'node:fs'
import type { BlockInfo, GraphDoc } from '../api/types'

// The server's own catalog (npm run gen:fixtures writes it from GET /api/blocks), not a made-up one.
export const CATALOG: BlockInfo[] = JSON.parse(readFileSync(new URL('../api/fixtures/blocks.json', import.meta.url), 'utf8'))

export const MLP: GraphDoc = {
  version: 1,
  name: 'MLP',
  nodes: [
    { id: 'X', type: 'Input', params: { shape: [20] }, position: { x: 0, y: 0 } },
    { id: 'hidden', type: 'Linear', params: { out_features: 256 }, position: { x: 0, y: 120 } },
    { id: 'act', type: 'ReLU', position: { x: 0, y: 240 } },
    { id: 'out', type: 'Linear', params: { out_features: 10 }, position: { x: 0, y: 360 } },
    { id: 'Y', type: 'Output', position: { x: 0, y: 480 } },
  ],
  edges: [
    { source: 'X', target: 'hidden' },
    { source: 'hidden', target: 'act' },
    { source: 'act', target: 'out' },
    { source: 'out', target: 'Y' },
  ],
  blocks: {},
}

export const RESIDUAL: GraphDoc = {
  version: 1,
  name: 'Res',
  nodes: [
    { id: 'X', type: 'Input', params: { shape: [8] } },
    { id: 'r1', type: 'Residual' },
    { id: 'Y', type: 'Output' },
  ],
  edges: [
    { source: 'X', target: 'r1' },
    { source: 'r1', target: 'Y' },
  ],
  blocks: {
    Residual: {
      nodes: [
        { id: 'x', type: 'Input' },
        { id: 'lin', type: 'Linear', params: { out_features: 8 }, init: { weight: { fn: 'normal', std: 0.01 } }, trainable: false },
        { id: 'add', type: 'Add' },
        { id: 'y', type: 'Output' },
      ],
      edges: [
        { source: 'x', target: 'lin' },
        { source: 'lin', target: 'add', target_port: 'a' },
        { source: 'x', target: 'add', target_port: 'b' },
        { source: 'add', target: 'y' },
      ],
    },
  },
}
