/**
 * CloudFormation's DescribeStacks (AWS Query protocol: a form-encoded POST to `/`, an XML answer)
 * for the one stack the runner stood up, so that a caller finds its outputs as on AWS, e.g.
 * `aws({ tasks, stack: 'Fanfold' })` with a CloudFormation client pointed at the runner. No other
 * CloudFormation action is served.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { DeployedStack } from './resources.js';

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

/** Answers one CloudFormation request whose form-encoded body is `body`. */
export function handleCloudFormation(
  body: string,
  stack: DeployedStack,
  created: Date,
  res: ServerResponse,
): void {
  const form = new URLSearchParams(body);
  const action = form.get('Action');
  if (action !== 'DescribeStacks') {
    sendXml(res, 400, errorXml('InvalidAction', `The runner serves only DescribeStacks, not ${action}`));
    return;
  }
  const stackId = `arn:aws:cloudformation:${stack.region}:${stack.accountId}:stack/${stack.stackName}/00000000-0000-0000-0000-000000000000`;
  const name = form.get('StackName');
  if (name !== null && name !== stack.stackName && name !== stackId) {
    sendXml(res, 400, errorXml('ValidationError', `Stack with id ${name} does not exist`));
    return;
  }
  const outputs = Object.entries(stack.outputs)
    .map(
      ([key, value]) =>
        `<member><OutputKey>${xmlEscape(key)}</OutputKey><OutputValue>${xmlEscape(value)}</OutputValue></member>`,
    )
    .join('');
  sendXml(
    res,
    200,
    `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks><member>` +
      `<StackName>${xmlEscape(stack.stackName)}</StackName><StackId>${xmlEscape(stackId)}</StackId>` +
      `<CreationTime>${created.toISOString()}</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>` +
      `<Outputs>${outputs}</Outputs></member></Stacks></DescribeStacksResult>` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`,
  );
}

function errorXml(code: string, message: string): string {
  return (
    `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code>` +
    `<Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`
  );
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res
    .writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': String(Buffer.byteLength(xml)) })
    .end(xml);
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
