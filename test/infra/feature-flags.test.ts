/**
 * The CDK app of cdk.json sets every feature flag of the installed aws-cdk-lib (so `cdk synth`
 * reports none unconfigured) to its recommended value, and the construct grants the same under
 * those flags as under the defaults that a new user's app may still run with.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CURRENT_VERSION_EXPIRED_FLAGS, FLAGS } from 'aws-cdk-lib/cx-api';
import { describe, expect, it } from 'vitest';
import { Fanfold } from '../../infra/fanfold.js';

const ROOT = new URL('../../', import.meta.url);
const TASKS = fileURLToPath(new URL('./fixtures/tasks.ts', import.meta.url));
const { context } = JSON.parse(readFileSync(new URL('cdk.json', ROOT), 'utf8')) as {
  context: Record<string, unknown>;
};

/** Each role's actions, by role logical id, in a stack synthesised with `flags`. */
function actionsByRole(flags: Record<string, unknown>): Record<string, string[]> {
  const app = new App({ context: { ...flags, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  new Fanfold(stack, 'Fanfold', { tasks: TASKS });
  const out: Record<string, Set<string>> = {};
  for (const p of Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))) {
    const { Roles, PolicyDocument } = (
      p as {
        Properties: {
          Roles: { Ref: string }[];
          PolicyDocument: { Statement: { Action: string | string[] }[] };
        };
      }
    ).Properties;
    for (const role of Roles) {
      out[role.Ref] ??= new Set();
      for (const s of PolicyDocument.Statement)
        for (const a of Array.isArray(s.Action) ? s.Action : [s.Action]) out[role.Ref]?.add(a);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

describe('cdk.json feature flags', () => {
  it('sets every flag of the installed aws-cdk-lib to its recommended value', () => {
    const live = Object.entries(FLAGS).filter(([name]) => !CURRENT_VERSION_EXPIRED_FLAGS.includes(name));
    expect(live.length).toBeGreaterThan(80);
    const off = live
      .filter(([name, info]) => JSON.stringify(context[name]) !== JSON.stringify(info.recommendedValue))
      .map(
        ([name, info]) =>
          `${name}: ${JSON.stringify(context[name])}, recommended ${JSON.stringify(info.recommendedValue)}`,
      );
    expect(off).toEqual([]);
  });

  it('leaves what each role may do as it is under the defaults', () => {
    expect(actionsByRole(context)).toEqual(actionsByRole({}));
  });
});
