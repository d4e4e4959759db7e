/** The plain gradient family: one compiled backward pass, optionally multiplied by the input. */
import { defineMethod } from './define.js';

export const gradient = defineMethod({
  name: 'gradient',
  description: 'the gradient of the target score with respect to the input',
  params: [],
  pass: { backward: 'gradient', timesInput: false },
  device: true,
  tokenInputs: true,
});

export const gradientXInput = defineMethod({
  name: 'gradient-x-input',
  description: 'the gradient times the input',
  params: [],
  pass: { backward: 'gradient', timesInput: true },
  device: true,
  tokenInputs: true,
});
