/**
 * File-system errors of the CLI's own reads and writes (an output directory that does not exist, an output path that
 * is a directory or a file where a directory is needed, no permission, a full disk) are the user's environment, not
 * bugs in xsys: the command runner turns them into an XsysError that names the path, with a hint, instead of an
 * "internal error" with exit 70.
 */
import { dirname } from 'node:path';

import { XsysError } from '../errors.js';

const CODES = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EROFS', 'ENAMETOOLONG']);

/** The XsysError for a Node fs error with a path, or undefined for anything else. */
export function fsError(e: unknown): XsysError | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string' || !CODES.has(err.code) || typeof err.path !== 'string') return undefined;
  const path = err.path;
  const say = (message: string, hint: string) => new XsysError(message, { hint, exitCode: 2, cause: e });
  switch (err.code) {
    case 'ENOENT':
      return err.syscall === 'mkdir'
        ? say(`'${path}': a directory on the way does not exist`, 'create it first, or choose another path')
        : say(`'${path}': no such file, or its directory '${dirname(path)}' does not exist`, 'check the path; output directories of single files are not created for you');
    case 'EISDIR':
      return say(`'${path}' is a directory, but a file is needed here`, 'give a file name inside it, e.g. ' + `${path.replace(/\/$/, '')}/explainer.onnx`);
    case 'EEXIST':
    case 'ENOTDIR':
      return say(`'${path}': a file is in the way where a directory is needed`, 'options such as --out take a directory; choose a new or existing directory');
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return say(`'${path}': permission denied`, 'choose a path you can write to');
    case 'ENOSPC':
    case 'EDQUOT':
      return say(`'${path}': no space left on the device`, 'free some disk space and run the command again');
    default:
      return say(`'${path}': the name is too long`, 'choose a shorter path');
  }
}
