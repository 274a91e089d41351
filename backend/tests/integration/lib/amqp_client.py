#!/usr/bin/python3
"""A plain AMQP client that is not chatd (Debian's python3-pika), for the interop tests.

Commands (one JSON object per line on stdout):
  publish URL EXCHANGE BODY [ROUTING_KEY]
      publishes BODY (persistent, publisher confirms) and prints {"published": true}
  declare URL QUEUE
      declares QUEUE as the brief's receive script does (durable, no arguments) and binds it to
      the fanout exchange `chat` (declared as the brief does: fanout, not durable)
  get URL QUEUE [MAX]
      basic_get with ack until the queue is empty (or MAX messages); prints
      {"body": ..., "content_type": ..., "delivery_mode": ...} per message, then {"count": N}
  count URL QUEUE
      prints {"messages": N, "consumers": N} (passive declare; exit 3 when the queue does not exist)
Exit status 0 on success; on an AMQP error a message on stderr and exit 1.
"""
import json
import sys

import pika


def connect(url):
    params = pika.URLParameters(url)
    params.socket_timeout = 10
    params.blocked_connection_timeout = 10
    params.connection_attempts = 1
    return pika.BlockingConnection(params)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    command, url = argv[1], argv[2]
    connection = connect(url)
    try:
        channel = connection.channel()
        if command == 'publish':
            exchange, body = argv[3], argv[4]
            routing_key = argv[5] if len(argv) > 5 else ''
            channel.confirm_delivery()
            channel.basic_publish(exchange=exchange, routing_key=routing_key, body=body.encode(),
                                  properties=pika.BasicProperties(delivery_mode=2))
            print(json.dumps({'published': True}))
        elif command == 'declare':
            queue = argv[3]
            channel.exchange_declare(exchange='chat', exchange_type='fanout')
            channel.queue_declare(queue=queue, durable=True)
            channel.queue_bind(queue=queue, exchange='chat')
            print(json.dumps({'declared': queue}))
        elif command == 'get':
            queue = argv[3]
            limit = int(argv[4]) if len(argv) > 4 else 10000
            count = 0
            while count < limit:
                method, props, body = channel.basic_get(queue=queue, auto_ack=False)
                if method is None:
                    break
                print(json.dumps({'body': body.decode('utf-8'), 'content_type': props.content_type,
                                  'delivery_mode': props.delivery_mode}))
                channel.basic_ack(method.delivery_tag)
                count += 1
            print(json.dumps({'count': count}))
        elif command == 'count':
            try:
                result = channel.queue_declare(queue=argv[3], passive=True)
            except pika.exceptions.ChannelClosedByBroker as e:
                if e.reply_code == 404:
                    print(json.dumps({'messages': None}))
                    return 3
                raise
            print(json.dumps({'messages': result.method.message_count,
                              'consumers': result.method.consumer_count}))
        else:
            sys.stderr.write(f'unknown command {command}\n')
            return 2
    finally:
        if connection.is_open:
            connection.close()
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv))
    except pika.exceptions.AMQPError as e:
        sys.stderr.write(f'amqp error: {e!r}\n')
        sys.exit(1)
