// Decide IAM requests with @cloud-copilot/iam-simulate, an evaluator independent of the
// project's own (test_app_tooling.infra.iam). Reads a JSON list of cases on stdin:
//   [{"policies": [<policy document>, ...], "action": "...", "resource": "...",
//     "account": "...", "context": {"key": "value" | ["values"]},
//     "resourcePolicy": <policy document, optional>}]
// and prints a JSON list of verdicts in the same order: "Allowed", "ExplicitlyDenied",
// "ImplicitlyDenied", or {"error": ...} when the simulator refuses the input or drops a
// context key it does not know for the action ({"ignored": [...]}).
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const verdicts = []
for (const c of cases) {
  const simulation = {
    request: {
      principal: `arn:aws:iam::${c.account}:role/caller`,
      action: c.action,
      resource: { resource: c.resource, accountId: c.account },
      contextVariables: c.context
    },
    identityPolicies: c.policies.map((policy, i) => ({ name: `policy${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: []
  }
  if (c.resourcePolicy) simulation.resourcePolicy = c.resourcePolicy
  const response = await runSimulation(simulation, {})
  if (response.resultType === 'error') {
    verdicts.push({ error: response.errors })
  } else if (response.resultType === 'single' && response.result.ignoredContextKeys.length) {
    verdicts.push({ error: { ignored: response.result.ignoredContextKeys } })
  } else {
    verdicts.push(response.overallResult)
  }
}
process.stdout.write(JSON.stringify(verdicts))
