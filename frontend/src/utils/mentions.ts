// Who a message calls on, as the server decided when it stored it (docs/protocol.md "Mentions").

export interface MentioningMessage {
  kind: string
  user_name: string
  deleted?: boolean
  mentions?: readonly string[]
  mentions_room?: boolean
}

/** Whether `message`, from someone else, mentions `user` by name or with `@room`. */
export function mentionsUser(message: MentioningMessage, user: string): boolean {
  if (message.kind !== 'text' || message.deleted || message.user_name === user) return false
  return message.mentions_room === true || (message.mentions?.includes(user) ?? false)
}
