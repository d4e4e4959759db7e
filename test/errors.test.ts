/**
 * The typed errors of src/errors.ts: message format (naming the file, argument or node), hint, exit code and class
 * identity, which the CLI and the HTTP API both rely on.
 */
import { describe, expect, it } from 'vitest';
import { FileFormatError, InputDataError, InvalidArgumentError, RuntimeFailure, UnsupportedNodeError, XsysError } from '../src/errors.js';

describe('typed errors', () => {
  it('XsysError: message, hint, exit code 2 by default, cause kept, name of the concrete class', () => {
    const cause = new Error('low level');
    const e = new XsysError('something went wrong', { hint: 'try again', cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe('something went wrong');
    expect(e.hint).toBe('try again');
    expect(e.exitCode).toBe(2);
    expect(e.cause).toBe(cause);
    expect(e.name).toBe('XsysError');
    expect(new XsysError('x', { exitCode: 3 }).exitCode).toBe(3);
    expect(new XsysError('x').cause).toBeUndefined();
    expect('cause' in new XsysError('x')).toBe(false);
  });

  it('FileFormatError names the file first and keeps it', () => {
    const e = new FileFormatError('models/net.onnx', 'file is empty', 'pass an ONNX model');
    expect(e.message).toBe('models/net.onnx: file is empty');
    expect(e.file).toBe('models/net.onnx');
    expect(e.hint).toBe('pass an ONNX model');
    expect(e.exitCode).toBe(2);
    expect(e.name).toBe('FileFormatError');
    expect(e).toBeInstanceOf(XsysError);
  });

  it('InvalidArgumentError names the argument first and keeps it', () => {
    const e = new InvalidArgumentError('--target', 'class 12 is out of range');
    expect(e.message).toBe('--target: class 12 is out of range');
    expect(e.argument).toBe('--target');
    expect(e.hint).toBeUndefined();
    expect(e.exitCode).toBe(2);
    expect(e.name).toBe('InvalidArgumentError');
  });

  it('InputDataError is a usage error (exit 2) with the message as given', () => {
    const e = new InputDataError("input 'x' contains a non-finite value (NaN) at flat index 3", 'replace NaN/Inf values');
    expect(e.message).toBe("input 'x' contains a non-finite value (NaN) at flat index 3");
    expect(e.hint).toBe('replace NaN/Inf values');
    expect(e.exitCode).toBe(2);
    expect(e.name).toBe('InputDataError');
  });

  it('UnsupportedNodeError carries node name and op type, in the message too, with exit code 3', () => {
    const e = new UnsupportedNodeError('/layer1/Loop', 'Loop', 'control flow is not supported', 'unroll the loop before export');
    expect(e.message).toBe("node '/layer1/Loop' (Loop): control flow is not supported");
    expect(e.nodeName).toBe('/layer1/Loop');
    expect(e.opType).toBe('Loop');
    expect(e.hint).toBe('unroll the loop before export');
    expect(e.exitCode).toBe(3);
    expect(e.name).toBe('UnsupportedNodeError');
    expect(e).toBeInstanceOf(XsysError);
  });

  it('RuntimeFailure has exit code 4 and keeps the runtime error as its cause', () => {
    const cause = new Error('ORT: bad shape');
    const e = new RuntimeFailure('ONNX Runtime failed while running: bad shape', 'check the input shape', cause);
    expect(e.exitCode).toBe(4);
    expect(e.cause).toBe(cause);
    expect(e.hint).toBe('check the input shape');
    expect(e.name).toBe('RuntimeFailure');
  });

  it('the families are distinct classes', () => {
    const all = [new FileFormatError('f', 'm'), new InvalidArgumentError('a', 'm'), new InputDataError('m'), new UnsupportedNodeError('n', 'Op', 'm'), new RuntimeFailure('m')];
    const classes = [FileFormatError, InvalidArgumentError, InputDataError, UnsupportedNodeError, RuntimeFailure];
    all.forEach((e, i) => classes.forEach((C, j) => expect(e instanceof C, `${e.name} instanceof ${C.name}`).toBe(i === j)));
    expect(all.map((e) => e.exitCode)).toEqual([2, 2, 2, 3, 4]);
  });
});
