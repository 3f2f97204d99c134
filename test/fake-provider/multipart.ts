import { Busboy, type BusboyInstance } from '@fastify/busboy'
import { ProviderError } from './errors.ts'

/** FormUpload is one file part of a multipart/form-data body: its field, name and size. */
export interface FormUpload {
  field: string
  filename: string
  bytes: Buffer
}

/** Form is a parsed multipart/form-data body: text fields (last value wins, `[]` names keep all) and files. */
export interface Form {
  fields: Record<string, string>
  files: FormUpload[]
}

/** readForm parses a multipart/form-data body the way the APIs' upload endpoints read it. */
export const readForm = (contentType: string, body: Buffer): Promise<Form> =>
  new Promise((resolve, reject) => {
    const form: Form = { fields: {}, files: [] }
    let parser: BusboyInstance
    try {
      parser = new Busboy({ headers: { 'content-type': contentType } })
    } catch (cause) {
      reject(new ProviderError(400, `Invalid multipart body: ${(cause as Error).message}`))
      return
    }
    parser.on('field', (name, value) => {
      form.fields[name] = value
    })
    parser.on('file', (field, stream, filename) => {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => form.files.push({ field, filename, bytes: Buffer.concat(chunks) }))
    })
    parser.on('error', (cause) =>
      reject(new ProviderError(400, `Invalid multipart body: ${(cause as Error).message}`)),
    )
    parser.on('finish', () => resolve(form))
    parser.end(body)
  })
