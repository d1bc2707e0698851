// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are CloudFormation Fn::Sub templates
/**
 * The template reader and intrinsic-function resolver, without emulators.
 */
import { describe, expect, it } from 'vitest';
import { parseFunctionName } from '../src/lambda-server.js';
import { type ResolveContext, readStackAssembly, referencedIds, resolveValue } from '../src/template.js';
import { FIXTURE_ASSEMBLY } from './support.js';

const ctx: ResolveContext = {
  region: 'eu-west-1',
  accountId: '123456789012',
  stackName: 'S',
  ref: (id) => `ref:${id}`,
  getAtt: (id, attribute) => `att:${id}.${attribute}`,
  condition: (name) => name === 'Yes',
};

describe('resolveValue()', () => {
  it.each([
    [{ Ref: 'Queue' }, 'ref:Queue'],
    [{ Ref: 'AWS::Region' }, 'eu-west-1'],
    [{ 'Fn::GetAtt': ['Queue', 'Arn'] }, 'att:Queue.Arn'],
    [{ 'Fn::GetAtt': 'Queue.Arn' }, 'att:Queue.Arn'],
    [{ 'Fn::Join': ['-', ['a', { Ref: 'B' }, 3]] }, 'a-ref:B-3'],
    [{ 'Fn::Sub': '${B}/${AWS::AccountId}/${Q.Arn}/${!Literal}' }, 'ref:B/123456789012/att:Q.Arn/${Literal}'],
    [{ 'Fn::Sub': ['${x}-${B}', { x: { Ref: 'C' } }] }, 'ref:C-ref:B'],
    [{ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] }, 'b'],
    [{ 'Fn::If': ['Yes', 'y', 'n'] }, 'y'],
    [{ 'Fn::If': ['No', 'y', 'n'] }, 'n'],
    [{ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] }, true],
    [{ 'Fn::Or': [{ 'Fn::Equals': ['a', 'b'] }, { Condition: 'Yes' }] }, true],
    [{ 'Fn::Not': [{ 'Fn::Contains': [['1', '2'], '2'] }] }, false],
    [{ 'Fn::Base64': 'hi' }, 'aGk='],
  ])('resolves %j', (value, expected) => {
    expect(resolveValue(value, ctx)).toEqual(expected);
  });

  it('drops AWS::NoValue from objects and lists', () => {
    expect(resolveValue({ a: { Ref: 'AWS::NoValue' }, b: [1, { Ref: 'AWS::NoValue' }, 2] }, ctx)).toEqual({
      b: [1, 2],
    });
  });

  it('names an intrinsic it does not know', () => {
    expect(() => resolveValue({ 'Fn::ImportValue': 'x' }, ctx)).toThrow('Fn::ImportValue');
  });
});

describe('referencedIds()', () => {
  it('finds Ref, Fn::GetAtt and Fn::Sub references, not pseudo parameters', () => {
    const refs = referencedIds({
      a: { Ref: 'A' },
      b: [{ 'Fn::GetAtt': ['B', 'Arn'] }, { 'Fn::GetAtt': 'C.Arn' }],
      c: { 'Fn::Sub': ['${D}-${E.Arn}-${AWS::Region}-${!F}-${x}', { x: { Ref: 'G' } }] },
      d: { Ref: 'AWS::Region' },
    });
    expect([...refs].sort()).toEqual(['A', 'B', 'C', 'D', 'E', 'G']);
  });
});

describe('readStackAssembly()', () => {
  it("finds the stack through manifest.json and each function's code folder", () => {
    const assembly = readStackAssembly(FIXTURE_ASSEMBLY);
    expect(assembly.stackName).toBe('Fixture');
    expect(assembly.codeDir('Echo4E1B7C21')).toMatch(/asset\.echo$/);
    // No asset metadata: matched by S3 key in Fixture.assets.json.
    expect(assembly.codeDir('Throw9A3D5E6F')).toMatch(/asset\.throw$/);
    expect(assembly.codeDir('WorkQueue0A9E3F5B')).toBeUndefined();
  });

  it('names the stacks when asked for one that is not there', () => {
    expect(() => readStackAssembly(FIXTURE_ASSEMBLY, 'Other')).toThrow('no stack Other');
  });
});

describe('parseFunctionName()', () => {
  it.each([
    ['fn', { name: 'fn', qualifier: undefined }],
    ['fn:$LATEST', { name: 'fn', qualifier: '$LATEST' }],
    ['arn:aws:lambda:us-east-1:123456789012:function:fn', { name: 'fn', qualifier: undefined }],
    ['arn:aws:lambda:us-east-1:123456789012:function:fn:3', { name: 'fn', qualifier: '3' }],
    ['123456789012:function:fn', { name: 'fn', qualifier: undefined }],
  ])('reads %s', (raw, expected) => {
    expect(parseFunctionName(raw)).toEqual(expected);
  });
});
