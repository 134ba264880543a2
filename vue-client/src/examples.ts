// Texts to try the shipped model (BBC News topics) with; the model reads English.
export const EXAMPLES = [
  'Shares in the carmaker rose 5% after it reported record quarterly profits and raised its forecast.',
  'The striker scored twice as the champions came from behind to win the derby 3-1 on Saturday.',
  'The new smartphone chip doubles battery life, the company told developers at its annual conference.',
  'The minister defended the budget in parliament as opposition MPs called for a vote on tax cuts.',
  'The film won best picture at the awards, and its lead actress thanked the director in a tearful speech.',
]

export function nextExample(current: string): string {
  const index = EXAMPLES.indexOf(current)
  return EXAMPLES[(index + 1) % EXAMPLES.length]
}
