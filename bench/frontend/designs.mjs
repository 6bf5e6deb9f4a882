// The designs measured: generated, valid, and laid out like a real one, so that load and
// validation time grow with the node count and not with odd shapes.

/** A valid design of exactly n nodes: Input -> parallel chains of ~30 layers -> a tree of Adds -> Output. */
export function makeDesign(n) {
  if (n < 3) throw new Error('a design needs at least 3 nodes')
  const COL = 220
  const ROW = 110
  const WIDTH = 32
  let branches = Math.max(1, Math.round(n / 30))
  while (n - 2 - (branches - 1) < branches) branches-- // at least one layer per branch
  const chain = n - 2 - (branches - 1)
  const lens = Array.from({ length: branches }, (_, b) => Math.floor(chain / branches) + (b < chain % branches ? 1 : 0))
  const kinds = ['Linear', 'ReLU', 'Linear', 'GELU', 'Linear', 'Tanh', 'Dropout']
  const nodes = []
  const edges = []
  const center = ((branches - 1) * COL) / 2
  nodes.push({ id: 'X', type: 'Input', params: { shape: [WIDTH] }, position: { x: center, y: 0 } })
  let ends = []
  lens.forEach((len, b) => {
    let prev = 'X'
    for (let j = 0; j < len; j++) {
      const type = kinds[j % kinds.length]
      const id = `b${b}_${j}`
      const node = { id, type, position: { x: b * COL, y: (j + 1) * ROW } }
      if (type === 'Linear') node.params = { out_features: WIDTH }
      if (type === 'Dropout') node.params = { p: 0.1 }
      nodes.push(node)
      edges.push({ source: prev, target: id })
      prev = id
    }
    ends.push({ id: prev, x: b * COL })
  })
  let y = (Math.max(...lens) + 1) * ROW
  let k = 0
  while (ends.length > 1) {
    const next = []
    for (let i = 0; i + 1 < ends.length; i += 2) {
      const id = `add${k++}`
      const x = Math.round((ends[i].x + ends[i + 1].x) / 2)
      nodes.push({ id, type: 'Add', position: { x, y } })
      edges.push({ source: ends[i].id, target: id, target_port: 'a' }, { source: ends[i + 1].id, target: id, target_port: 'b' })
      next.push({ id, x })
    }
    if (ends.length % 2) next.push(ends[ends.length - 1])
    ends = next
    y += ROW
  }
  nodes.push({ id: 'Y', type: 'Output', position: { x: ends[0].x, y } })
  edges.push({ source: ends[0].id, target: 'Y' })
  if (nodes.length !== n) throw new Error(`generated ${nodes.length} nodes, wanted ${n}`)
  return { version: 1, name: `bench_${n}`, nodes, edges, blocks: {} }
}
